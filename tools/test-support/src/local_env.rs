//! The environment of local runs, from the one file that defines it (`scripts/local.env`, also read by
//! `make run`, `make records` and `make test-api`), plus what each run adds: its DynamoDB Local endpoint, its
//! table and its function settings.

/// `scripts/local.env` as (name, value) pairs, in file order.
pub fn from_file() -> Vec<(String, String)> {
    let path = crate::workspace_root().join("scripts/local.env");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse(&text)
}

fn parse(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (name, value) =
                line.split_once('=').unwrap_or_else(|| panic!("scripts/local.env: not KEY=value: {line}"));
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// The AWS side of a function or client on a local DynamoDB at `dynamodb_endpoint` (loopback only).
pub fn aws_env(dynamodb_endpoint: &str) -> Vec<(String, String)> {
    assert!(dynamodb_endpoint.starts_with("http://127.0.0.1:"), "loopback only: {dynamodb_endpoint}");
    let mut env = from_file();
    env.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), dynamodb_endpoint.into()));
    env
}

/// A function's environment: [`aws_env`], its table, then `settings` (which win over anything before them).
pub fn function_env(table: &str, dynamodb_endpoint: &str, settings: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = aws_env(dynamodb_endpoint);
    env.push(("TABLE_NAME".into(), table.into()));
    for (name, value) in settings {
        env.retain(|(existing, _)| existing != name);
        env.push(((*name).into(), (*value).into()));
    }
    env
}

/// Borrowed pairs, as `Command::envs` and [`crate::FunctionStack::start`] take them.
pub fn as_pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_defines_region_and_credentials_and_settings_win() {
        let env = function_env("t", "http://127.0.0.1:1", &[("RUST_LOG", "debug"), ("SIGNATURE_MODE", "off")]);
        let get = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        assert_eq!(get("AWS_REGION"), Some("us-east-1"));
        assert!(get("AWS_ACCESS_KEY_ID").is_some() && get("AWS_SECRET_ACCESS_KEY").is_some());
        assert_eq!(get("AWS_ENDPOINT_URL_DYNAMODB"), Some("http://127.0.0.1:1"));
        assert_eq!(
            (get("TABLE_NAME"), get("RUST_LOG"), get("SIGNATURE_MODE")),
            (Some("t"), Some("debug"), Some("off"))
        );
        assert_eq!(env.iter().filter(|(k, _)| k == "RUST_LOG").count(), 1, "a setting replaces the file's value");
        assert_eq!(parse("# c\n\nA=1\nB=x=y\n"), vec![("A".into(), "1".into()), ("B".into(), "x=y".into())]);
    }
}
