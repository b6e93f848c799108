//! Implementation detail of the `migrate-core` crate: the `embed_migrations!`
//! macro. You probably want `migrate-core`, which re-exports it with its
//! documentation.

mod check;
mod expand;
mod input;

use proc_macro::TokenStream;

/// Reads, checks and embeds a migrations folder. Documented in `migrate-core`.
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as input::Input);
    expand::expand(&input).into()
}
