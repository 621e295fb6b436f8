//! Links libpam when the module is built for this machine (the tests load it
//! through the host's libpam). A cross build for a board has no libpam of the
//! board's architecture to link against; its three libpam functions are then
//! resolved when libpam itself loads the module on the board.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    let host = std::env::var("HOST").unwrap_or_default();
    if target == host {
        println!("cargo:rustc-link-lib=pam");
    }
}
