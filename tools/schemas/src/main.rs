//! `make schemas`: writes the contract's JSON Schemas into docs/schemas/ and the registry's into the template's
//! `AWS::EventSchemas::Schema` resources, from voice-core's types (see the library's documentation).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    match write(&root) {
        Ok(changed) => {
            println!("schemas: {changed} file(s) changed");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("schemas: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write(root: &std::path::Path) -> Result<usize, String> {
    let mut changed = 0;
    let mut put = |path: PathBuf, text: String| -> Result<(), String> {
        let full = root.join(&path);
        if std::fs::read_to_string(&full).ok().as_deref() == Some(text.as_str()) {
            return Ok(());
        }
        if let Some(dir) = full.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(&full, text).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {}", path.display());
        changed += 1;
        Ok(())
    };
    for (path, text) in schemas::files() {
        put(path, text)?;
    }
    let template_path = root.join(schemas::TEMPLATE);
    let template = std::fs::read_to_string(&template_path).map_err(|e| format!("{}: {e}", schemas::TEMPLATE))?;
    put(PathBuf::from(schemas::TEMPLATE), schemas::update_template(&template)?)?;
    Ok(changed)
}
