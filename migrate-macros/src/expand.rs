//! Turns a checked folder into a static, version-sorted array.

use std::path::{Path, PathBuf};

use migrate_format::{Problem, SourceFile, SourceMigration, checksum, folder, lock};
use proc_macro2::{Span, TokenStream};
use quote::quote;

use crate::check;
use crate::input::Input;

pub(crate) fn expand(input: &Input) -> TokenStream {
    match load(input) {
        Ok((migrations, lock)) => embed(&migrations, lock.as_deref()),
        Err(error) => fallback(&error),
    }
}

/// Reads and checks the folder and its `migrate.lock`, turning every problem
/// into an error on the folder literal, all of them in one pass.
fn load(input: &Input) -> syn::Result<(Vec<SourceMigration>, Option<PathBuf>)> {
    let span = input.folder.span();
    let written = input.folder.value();
    let folder = resolve(&written).map_err(|message| syn::Error::new(span, message))?;
    if !folder.exists() {
        let message = format!(
            "{written}: the folder does not exist; the path is relative to the directory of the crate's Cargo.toml"
        );
        return Err(syn::Error::new(span, message));
    }
    let migrations = folder::load_as(&folder, &written, input.flavor(), input.layout)
        .map_err(|problems| errors(span, &problems))?;
    let lock = lock::check_folder(&folder, &written, &migrations)
        .map_err(|problems| errors(span, &problems))?;
    let problems = check::check(input, &migrations).map_err(|message| {
        let dialect = input.dialect.map_or(span, |(_, span)| span);
        syn::Error::new(dialect, message)
    })?;
    if !problems.is_empty() {
        return Err(errors(span, &problems));
    }
    Ok((migrations, lock))
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

fn embed(migrations: &[SourceMigration], lock: Option<&Path>) -> TokenStream {
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
fn fallback(error: &syn::Error) -> TokenStream {
    let error = error.to_compile_error();
    quote! {
        {
            #error
            ::migrate_core::__private::Migrations::__new(&[], [0; 32])
        }
    }
}
