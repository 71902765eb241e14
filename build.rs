fn main() {
    napi_build::setup();

    // `register_calls`: the targets whose C calling convention the
    // register-call code (src/arch/) speaks: x86-64 System V and AArch64
    // AAPCS64, i.e. those two architectures anywhere but Windows (Win64 and
    // Arm64EC pass arguments differently). The one place that says so; the
    // code asks `cfg(register_calls)` and `target_arch` only.
    println!("cargo:rustc-check-cfg=cfg(register_calls)");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let windows = std::env::var_os("CARGO_CFG_WINDOWS").is_some();
    if (arch == "x86_64" || arch == "aarch64") && !windows {
        println!("cargo:rustc-cfg=register_calls");
    }
}
