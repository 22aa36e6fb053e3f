//! `template.yaml` as the tests read it: through cfn-lint's loader (the venv's Python), so that
//! the short-form tags (`!Ref`, `!If`, …) arrive as the long form (`{"Ref": …}`, `{"Fn::If": …}`).

use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

/// A tool `./scripts/bootstrap` installs into `.venv`.
pub fn venv_tool(name: &str) -> std::path::PathBuf {
    let path = super::repo().join(".venv/bin").join(name);
    assert!(
        path.exists(),
        "{name} not found: run ./scripts/test (it installs it into .venv)"
    );
    path
}

/// `template.yaml` as JSON.
pub fn template() -> &'static Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        python_json(
            "import json, sys\n\
             from cfnlint.decode import decode\n\
             template, problems = decode('template.yaml')\n\
             if problems: sys.exit(str(problems))\n\
             print(json.dumps(template))",
        )
    })
}

/// What a Python snippet, run with the venv's Python in the repository, prints as JSON.
pub fn python_json(code: &str) -> Value {
    let stdout = super::stdout_of(
        Command::new(venv_tool("python"))
            .args(["-c", code])
            .current_dir(super::repo())
            .output()
            .unwrap(),
    );
    serde_json::from_slice(&stdout).unwrap()
}

/// A resource of the template.
pub fn resource(name: &str) -> &'static Value {
    let r = &template()["Resources"][name];
    assert!(r.is_object(), "no resource {name}");
    r
}
