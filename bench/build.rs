//! Generates the benchmark's migrations before `embed_migrations!` reads them.

#[path = "generator.rs"]
mod generator;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=generator.rs");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("generated");
    generator::generate(&root).expect("writing the generated migrations");
}
