// `sqlx::migrate!` embeds the migration files at compile time; without this,
// a new file is not picked up until something else in the crate changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
