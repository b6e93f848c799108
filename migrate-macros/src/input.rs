//! The macro's arguments: `"folder"`, an optional `dialect = "…"`, an
//! optional `history_table = "…"`, an optional `layout = "…"`, and for
//! SQLite an optional `foreign_keys = "on" | "off"` and `check_limit = <steps>`.

use migrate_format::history::TableName;
use migrate_format::{Flavor, Layout};
use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitInt, LitStr, Token};

pub(crate) struct Input {
    /// The folder, relative to the calling crate's `Cargo.toml`.
    pub(crate) folder: LitStr,
    /// The engine, with the span of its literal for errors about it.
    pub(crate) dialect: Option<(Dialect, Span)>,
    /// `foreign_keys = "on" | "off"`: the setting the SQLite dry run starts with.
    pub(crate) foreign_keys: Option<bool>,
    /// `history_table = "…"`: the name the runner is given with
    /// `Runner::history_table`, so that the dry run's history table is the
    /// one the migrations will meet.
    pub(crate) history_table: Option<TableName>,
    /// `layout = "…"`: the folder's layout, instead of the detected one.
    pub(crate) layout: Option<Layout>,
    /// `check_limit = <steps>`: how many steps of SQLite's virtual machine
    /// one statement of the dry run may take.
    pub(crate) check_limit: Option<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Input {
    pub(crate) fn flavor(&self) -> Flavor {
        match self.dialect {
            None => Flavor::Generic,
            Some((Dialect::Sqlite, _)) => Flavor::Sqlite,
            Some((Dialect::Postgres, _)) => Flavor::Postgres,
        }
    }
}

const ARGUMENTS: &str = "the arguments after the folder are `dialect = \"sqlite\"` or `dialect = \"postgres\"`, `history_table = \"<name>\"`, `layout = \"flat\" | \"prisma\" | \"diesel\" | \"flyway\"`, and with SQLite `foreign_keys = \"on\"` or `\"off\"` and `check_limit = <steps>`";

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let folder: LitStr = input.parse().map_err(|error| {
            syn::Error::new(
                error.span(),
                "expected the migrations folder as a string literal, as in `embed_migrations!(\"migrations\")`",
            )
        })?;
        let mut parsed = Input {
            folder,
            dialect: None,
            foreign_keys: None,
            history_table: None,
            layout: None,
            check_limit: None,
        };
        // The arguments that only the SQLite dry run reads.
        let mut sqlite_only = None;
        while input.parse::<Option<Token![,]>>()?.is_some() {
            if input.is_empty() {
                break;
            }
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let repeated = || syn::Error::new(key.span(), format!("`{key}` is given twice"));
            // The one numeric argument; the others are strings.
            if key == "check_limit" {
                let limit = check_limit(&input.parse()?)?;
                parsed
                    .check_limit
                    .replace(limit)
                    .map_or(Ok(()), |_| Err(repeated()))?;
                sqlite_only = Some(key.clone());
                continue;
            }
            let value: LitStr = input.parse()?;
            if key == "dialect" {
                let dialect = dialect(&value)?;
                parsed
                    .dialect
                    .replace(dialect)
                    .map_or(Ok(()), |_| Err(repeated()))?;
            } else if key == "foreign_keys" {
                let on = switch(&value)?;
                parsed
                    .foreign_keys
                    .replace(on)
                    .map_or(Ok(()), |_| Err(repeated()))?;
                sqlite_only = Some(key.clone());
            } else if key == "history_table" {
                let table = table_name(&value)?;
                parsed
                    .history_table
                    .replace(table)
                    .map_or(Ok(()), |_| Err(repeated()))?;
            } else if key == "layout" {
                let layout = layout(&value)?;
                parsed
                    .layout
                    .replace(layout)
                    .map_or(Ok(()), |_| Err(repeated()))?;
            } else {
                let message = format!("unknown argument `{key}`; {ARGUMENTS}");
                return Err(syn::Error::new(key.span(), message));
            }
        }
        // The setting only means something to the SQLite dry run; elsewhere
        // it would silently do nothing.
        match (sqlite_only, parsed.dialect) {
            (Some(key), dialect) if dialect.map(|(d, _)| d) != Some(Dialect::Sqlite) => {
                Err(syn::Error::new(
                    key.span(),
                    format!("`{key}` only applies with `dialect = \"sqlite\"`"),
                ))
            }
            _ => Ok(parsed),
        }
    }
}

fn dialect(value: &LitStr) -> syn::Result<(Dialect, Span)> {
    let dialect = match value.value().as_str() {
        "sqlite" => Dialect::Sqlite,
        "postgres" | "postgresql" => Dialect::Postgres,
        other => {
            let message = format!("unknown dialect `{other}`; expected `sqlite` or `postgres`");
            return Err(syn::Error::new(value.span(), message));
        }
    };
    Ok((dialect, value.span()))
}

fn layout(value: &LitStr) -> syn::Result<Layout> {
    Layout::from_name(&value.value()).ok_or_else(|| {
        let message = format!(
            "unknown layout `{}`; expected one of {}",
            value.value(),
            migrate_format::layout::names()
        );
        syn::Error::new(value.span(), message)
    })
}

/// The history table's name, validated as the runner validates it.
fn table_name(value: &LitStr) -> syn::Result<TableName> {
    TableName::parse(&value.value())
        .map_err(|invalid| syn::Error::new(value.span(), invalid.to_string()))
}

/// The dry run's step limit: a positive integer, since a build must not run
/// without a bound.
fn check_limit(value: &LitInt) -> syn::Result<u64> {
    match value.base10_parse::<u64>() {
        Ok(steps) if steps > 0 => Ok(steps),
        _ => Err(syn::Error::new(
            value.span(),
            "`check_limit` is a positive number of steps of SQLite's virtual machine per statement, as in `check_limit = 2_000_000_000`",
        )),
    }
}

fn switch(value: &LitStr) -> syn::Result<bool> {
    match value.value().as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(syn::Error::new(
            value.span(),
            format!("`foreign_keys` is `\"on\"` or `\"off\"`, not `{other}`"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(arguments: &str) -> syn::Result<Input> {
        syn::parse_str(arguments)
    }

    #[test]
    fn the_step_limit_is_a_positive_number_for_sqlite() {
        let input = parse(r#""m", dialect = "sqlite", check_limit = 2_000_000"#).unwrap();
        assert_eq!(input.check_limit, Some(2_000_000));
        let zero = parse(r#""m", dialect = "sqlite", check_limit = 0"#)
            .err()
            .unwrap();
        assert!(zero.to_string().contains("positive number"), "{zero}");
        let postgres = parse(r#""m", dialect = "postgres", check_limit = 5"#)
            .err()
            .unwrap();
        assert_eq!(
            postgres.to_string(),
            "`check_limit` only applies with `dialect = \"sqlite\"`"
        );
    }
}
