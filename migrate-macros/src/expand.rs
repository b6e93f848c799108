//! Turns a checked folder into a static, version-sorted array.

use std::path::{Path, PathBuf};

use migrate_format::{Problem, SourceFile, SourceMigration, checksum, folder, lock};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::check::{self, SERVER_VARIABLE};
use crate::input::{Dialect, Input};

pub(crate) fn expand(input: &Input) -> TokenStream {
    let span = input.folder.span();
    let (loaded, warnings) = load(input);
    let mut extra: Vec<TokenStream> = warnings.iter().map(|text| warning(span, text)).collect();
    if input
        .dialect
        .is_some_and(|(dialect, _)| dialect == Dialect::Postgres)
    {
        extra.push(track_server_variable());
    }
    match loaded {
        Ok((migrations, lock)) => embed(&migrations, lock.as_deref(), &extra),
        Err(error) => fallback(&error, &extra),
    }
}

type Loaded = syn::Result<(Vec<SourceMigration>, Option<PathBuf>)>;

/// Reads and checks the folder and its `migrate.lock`, turning every problem
/// into an error on the folder literal, all of them in one pass. Also
/// returns the lints to show as warnings.
fn load(input: &Input) -> (Loaded, Vec<String>) {
    let span = input.folder.span();
    let written = input.folder.value();
    let folder = match resolve(&written) {
        Ok(folder) => folder,
        Err(message) => return (Err(syn::Error::new(span, message)), Vec::new()),
    };
    if !folder.exists() {
        let message = format!(
            "{written}: the folder does not exist; the path is relative to the directory of the crate's Cargo.toml"
        );
        return (Err(syn::Error::new(span, message)), Vec::new());
    }
    let migrations = match folder::load_as(&folder, &written, input.flavor(), input.layout) {
        Ok(migrations) => migrations,
        Err(problems) => return (Err(errors(span, &problems)), Vec::new()),
    };
    let lock = match lock::check_folder(&folder, &written, &migrations) {
        Ok(lock) => lock,
        Err(problems) => return (Err(errors(span, &problems)), Vec::new()),
    };
    let checked = match check::check(input, &migrations, lock.as_deref()) {
        Ok(checked) => checked,
        Err(message) => {
            let dialect = input.dialect.map_or(span, |(_, span)| span);
            return (Err(syn::Error::new(dialect, message)), Vec::new());
        }
    };
    // Warnings next to errors would only be noise: they show again once the
    // errors are fixed. With `lints = "deny"` the lints are among the errors.
    if !checked.problems.is_empty() {
        return (Err(errors(span, &checked.problems)), Vec::new());
    }
    (Ok((migrations, lock)), checked.warnings)
}

/// One error per problem, combined so that the compiler shows all of them.
fn errors(span: Span, problems: &[Problem]) -> syn::Error {
    problems
        .iter()
        .map(|problem| syn::Error::new(span, problem))
        .reduce(|mut combined, error| {
            combined.combine(error);
            combined
        })
        .unwrap_or_else(|| syn::Error::new(span, "the migrations folder could not be read"))
}

/// Resolves the folder against the calling crate's manifest directory.
///
/// Absolute paths are refused: they would only build on this machine. Paths
/// with `..` are allowed, so crates of one workspace can share a folder.
fn resolve(written: &str) -> Result<PathBuf, String> {
    if written.is_empty() {
        return Err(
            "the migrations folder is empty: name it relative to Cargo.toml, as in \"migrations\""
                .to_owned(),
        );
    }
    if Path::new(written).is_absolute() {
        return Err(format!(
            "the migrations folder `{written}` is absolute and would only build on this machine; name it relative to the crate's Cargo.toml"
        ));
    }
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .ok_or("CARGO_MANIFEST_DIR is not set: embed_migrations! must be compiled by cargo")?;
    Ok(Path::new(&manifest_dir).join(written))
}

/// A warning that cargo shows and replays like any other: stable Rust has no
/// warning API for proc macros, so the expansion uses an item deprecated
/// with the lint's text as its note, at the folder literal. `-D warnings`
/// and `#![deny(deprecated)]` turn it into an error, as they do any
/// warning; `lints = "off"` is the way to silence the lints, not
/// `#[allow(deprecated)]`.
fn warning(span: Span, text: &str) -> TokenStream {
    let used = Ident::new("MIGRATION_LINT", span);
    quote! {
        const _: () = {
            #[deprecated(note = #text)]
            const MIGRATION_LINT: () = ();
            #used
        };
    }
}

/// `option_env!` makes cargo rebuild the crate, and so run the check again,
/// when the variable that names the check server changes: stable Rust does
/// not track the variables a proc macro reads.
fn track_server_variable() -> TokenStream {
    quote! {
        const _: ::core::option::Option<&str> = ::core::option_env!(#SERVER_VARIABLE);
    }
}

fn embed(
    migrations: &[SourceMigration],
    lock: Option<&Path>,
    extra: &[TokenStream],
) -> TokenStream {
    let files = migrations
        .iter()
        .flat_map(|m| std::iter::once(&m.up).chain(&m.down));
    let metadata = migrations.iter().filter_map(|m| m.metadata.as_deref());
    let tracking = files
        .map(|file| file.path.as_path())
        .chain(metadata)
        .chain(lock)
        .map(track);
    let set_checksum = checksum::set_checksum(migrations.iter().map(|m| (m.version, &m.checksum)));
    let migrations = migrations.iter().map(migration);
    quote! {
        {
            #(#tracking)*
            #(#extra)*
            // A const item, so the array lives for 'static although its
            // elements have destructors (`Cow`), which rules out promotion.
            const MIGRATIONS: &[::migrate_core::__private::Migration] = &[#(#migrations),*];
            ::migrate_core::__private::Migrations::__new(MIGRATIONS, [#(#set_checksum),*])
        }
    }
}

/// `include_str!` makes cargo rebuild the crate when the file changes. The
/// constant is unused, so the text is not in the binary twice.
fn track(path: &Path) -> TokenStream {
    let path = path.to_string_lossy();
    quote! { const _: &str = ::core::include_str!(#path); }
}

fn migration(migration: &SourceMigration) -> TokenStream {
    let version = migration.version;
    let description = &migration.description;
    let up = file(&migration.up);
    let checksum = migration.checksum;
    let down = match &migration.down {
        Some(down) => {
            let down = file(down);
            quote! { ::core::option::Option::Some(#down) }
        }
        None => quote! { ::core::option::Option::None },
    };
    quote! {
        ::migrate_core::__private::Migration::__new(
            #version, #description, #up, #down, [#(#checksum),*],
        )
    }
}

fn file(file: &SourceFile) -> TokenStream {
    let display = &file.display;
    let sql = &file.sql;
    let no_transaction = file.directives.no_transaction;
    quote! {
        ::migrate_core::__private::Script::__new(#display, #sql, #no_transaction)
    }
}

/// On error, still expand to an empty array of the right type, so that the
/// user sees the real problems and not a cascade of type errors.
fn fallback(error: &syn::Error, extra: &[TokenStream]) -> TokenStream {
    let error = error.to_compile_error();
    quote! {
        {
            #error
            #(#extra)*
            ::migrate_core::__private::Migrations::__new(&[], [0; 32])
        }
    }
}
