//! The macro's arguments: `"folder"` and an optional `dialect = "…"`.

use migrate_format::Flavor;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Token};

pub(crate) struct Input {
    /// The folder, relative to the calling crate's `Cargo.toml`.
    pub(crate) folder: LitStr,
    pub(crate) dialect: Option<Dialect>,
}

#[derive(Clone, Copy)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Input {
    pub(crate) fn flavor(&self) -> Flavor {
        match self.dialect {
            None => Flavor::Generic,
            Some(Dialect::Sqlite) => Flavor::Sqlite,
            Some(Dialect::Postgres) => Flavor::Postgres,
        }
    }
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let folder: LitStr = input.parse().map_err(|error| {
            syn::Error::new(
                error.span(),
                "expected the migrations folder as a string literal, as in `embed_migrations!(\"migrations\")`",
            )
        })?;
        let mut dialect = None;
        while input.parse::<Option<Token![,]>>()?.is_some() {
            if input.is_empty() {
                break;
            }
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let value: LitStr = input.parse()?;
            if key != "dialect" {
                return Err(syn::Error::new(
                    key.span(),
                    format!(
                        "unknown argument `{key}`; the only argument after the folder is `dialect = \"sqlite\"` or `dialect = \"postgres\"`"
                    ),
                ));
            }
            if dialect.is_some() {
                return Err(syn::Error::new(key.span(), "`dialect` is given twice"));
            }
            dialect = Some(match value.value().as_str() {
                "sqlite" => Dialect::Sqlite,
                "postgres" | "postgresql" => Dialect::Postgres,
                other => {
                    return Err(syn::Error::new(
                        value.span(),
                        format!("unknown dialect `{other}`; expected `sqlite` or `postgres`"),
                    ));
                }
            });
        }
        Ok(Input { folder, dialect })
    }
}
