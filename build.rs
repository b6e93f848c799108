fn main() {
    // Rebuild when a migration is added or removed, as the README tells services to do.
    println!("cargo::rerun-if-changed=migrations");
}
