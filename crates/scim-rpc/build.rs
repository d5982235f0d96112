//! Compiles `proto/` with protox (pure Rust), so no system `protoc` is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = "../../proto";
    let files = [
        "scim/v1/directory.proto",
        "scim/v1/account.proto",
        "scim/v1/license.proto",
        "scim/v1/audit.proto",
        "scim/v1/quarantine.proto",
    ];
    let descriptors = protox::compile(files, [proto_root])?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    println!("cargo:rerun-if-changed={proto_root}");
    Ok(())
}
