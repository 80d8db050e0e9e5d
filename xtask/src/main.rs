fn main() {
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../wire/vectors/vectors.json");
    std::fs::write(out, wire::vectors::generate()).unwrap();
}
