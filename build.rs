//! include_dir! cannot tell cargo which files it read (that needs a nightly API), so without this
//! an edited step script or GE template would not be re-embedded until some Rust file changed.
fn main() {
    println!("cargo:rerun-if-changed=commands");
    println!("cargo:rerun-if-changed=deploy/ges");
}
