//! `tessera-bindgen WASM OUT_DIR NAME`: writes `NAME.js` and `NAME_bg.wasm` into `OUT_DIR`,
//! the ES module a page imports and the wasm it loads, as `wasm-bindgen --target web
//! --no-typescript` does.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, out_dir, name] = args.as_slice() else {
        eprintln!("usage: tessera-bindgen WASM OUT_DIR NAME");
        return ExitCode::from(2);
    };
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    let bound = bindgen
        .web(true)
        .map(|b| b.input_path(input).out_name(name).typescript(false).omit_default_module_path(false))
        .and_then(|b| b.generate(out_dir));
    match bound {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tessera-bindgen: {input}: {e:#}");
            ExitCode::FAILURE
        }
    }
}
