//! The deployment files of `deploy/`, checked without a container engine (none runs on
//! our machines): every YAML file parses; the Kubernetes manifests pass the schemas of
//! a pinned Kubernetes version (`kubernetes-validate`, strict); the configuration the
//! ConfigMap and compose give midoffice passes the real binary's `config check` with
//! the environment the containers set, and every `MIDOFFICE…` variable they set is one
//! the binary uses; every command line of the image (Dockerfile ENTRYPOINT, CMD and
//! HEALTHCHECK, the Deployment's and the retention CronJob's containers, compose's
//! services) parses with the binary's flags and names the configuration where it is
//! mounted; and the ports, the user and the kustomization agree with each other.
//!
//! `kubernetes-validate` runs as `python3 -m kubernetes_validate` (whatever folder pip
//! put its script in). Without it (`pip install kubernetes-validate`, as `.ci/run` does)
//! the schema check says on stderr that it was skipped; with `CI` set or
//! `MIDOFFICE_REQUIRE_DEPLOY_TOOLS=1` it fails instead.

mod common;

use serde::Deserialize;
use serde_norway::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The Kubernetes version whose schemas the manifests must pass.
const KUBERNETES_VERSION: &str = "1.33.0";
/// Set to `1`, a missing `kubernetes-validate` fails the schema check (as `CI` does).
const REQUIRE_TOOLS_VAR: &str = "MIDOFFICE_REQUIRE_DEPLOY_TOOLS";
/// Where the image holds the binary.
const IMAGE_BINARY: &str = "/usr/local/bin/midoffice";
/// A stand-in for the identifier secret compose takes from its environment.
const SECRET: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

fn kubernetes() -> PathBuf {
    deploy().join("kubernetes")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The YAML documents of `path` (aliases and merge keys `<<` resolved; a duplicate key
/// is an error).
fn documents(path: &Path) -> Vec<Value> {
    let text = read(path);
    serde_norway::Deserializer::from_str(&text)
        .map(|document| {
            Value::deserialize(document)
                .and_then(|mut v| v.apply_merge().map(|()| v))
                .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
        })
        .filter(|v| !v.is_null())
        .collect()
}

/// The Kubernetes resources of `deploy/kubernetes` (the kustomization is not one).
fn manifests() -> Vec<(PathBuf, Value)> {
    common::files(&kubernetes(), &["yaml", "yml"])
        .into_iter()
        .filter(|p| !p.ends_with("kustomization.yaml"))
        .flat_map(|p| documents(&p).into_iter().map(move |d| (p.clone(), d)))
        .collect()
}

/// The one resource of `kind` among the manifests.
fn one<'a>(manifests: &'a [(PathBuf, Value)], kind: &str) -> &'a Value {
    let found: Vec<&Value> = manifests
        .iter()
        .filter(|(_, m)| m["kind"].as_str() == Some(kind))
        .map(|(_, m)| m)
        .collect();
    assert_eq!(found.len(), 1, "expected one {kind} in deploy/kubernetes");
    found[0]
}

fn text(value: &Value, what: &str) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {value:?}"))
        .to_owned()
}

fn strings(value: &Value, what: &str) -> Vec<String> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("{what} is not a list: {value:?}"))
        .iter()
        .map(|v| text(v, what))
        .collect()
}

fn list(value: &Value) -> &[Value] {
    value.as_sequence().map_or(&[], Vec::as_slice)
}

/// What the final stage of `deploy/Dockerfile` says about running the binary.
struct Image {
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    healthcheck: Vec<String>,
    user: String,
    exposed: Vec<u16>,
}

/// An instruction's JSON array: the exec form, the only one without a shell (the
/// runtime image has none).
fn exec_form(json: &str, what: &str) -> Vec<String> {
    serde_json::from_str(json.trim()).unwrap_or_else(|e| {
        panic!("the Dockerfile's {what} is not in exec form (a JSON array; the image has no shell): {json}: {e}")
    })
}

fn image() -> Image {
    let text = read(&deploy().join("Dockerfile"));
    // Instructions, with continued lines joined and comments left out.
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim) {
        if current.is_empty() && (line.is_empty() || line.starts_with('#')) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                instructions.push(std::mem::take(&mut current));
            }
        }
    }
    let split = |i: &str| -> (String, String) {
        let (word, rest) = i.split_once(char::is_whitespace).unwrap_or((i, ""));
        (word.to_ascii_uppercase(), rest.trim().to_owned())
    };
    let last_from = instructions
        .iter()
        .rposition(|i| split(i).0 == "FROM")
        .expect("a FROM in the Dockerfile");
    let final_stage: Vec<(String, String)> =
        instructions[last_from..].iter().map(|i| split(i)).collect();
    let last = |word: &str| {
        final_stage
            .iter()
            .rev()
            .find(|(w, _)| w == word)
            .map(|(_, rest)| rest.clone())
            .unwrap_or_else(|| panic!("no {word} in the Dockerfile's final stage"))
    };
    let healthcheck = last("HEALTHCHECK");
    let (_, probe) = healthcheck
        .split_once("CMD ")
        .expect("HEALTHCHECK runs a command (CMD)");
    Image {
        entrypoint: exec_form(&last("ENTRYPOINT"), "ENTRYPOINT"),
        cmd: exec_form(&last("CMD"), "CMD"),
        healthcheck: exec_form(probe, "HEALTHCHECK"),
        user: last("USER"),
        exposed: final_stage
            .iter()
            .filter(|(w, _)| w == "EXPOSE")
            .flat_map(|(_, ports)| ports.split_whitespace())
            .map(|p| {
                p.trim_end_matches("/tcp")
                    .parse()
                    .unwrap_or_else(|e| panic!("EXPOSE {p}: {e}"))
            })
            .collect(),
    }
}

/// The command line a container runs: `command` replaces the image's ENTRYPOINT (and
/// drops its CMD), `args` replaces its CMD, as Kubernetes and compose both do.
fn command_line(
    image: &Image,
    command: Option<Vec<String>>,
    args: Option<Vec<String>>,
) -> Vec<String> {
    match (command, args) {
        (Some(command), args) => [command, args.unwrap_or_default()].concat(),
        (None, Some(args)) => [image.entrypoint.clone(), args].concat(),
        (None, None) => [image.entrypoint.clone(), image.cmd.clone()].concat(),
    }
}

fn midoffice() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_midoffice"));
    command.env_clear().stdin(Stdio::null());
    command
}

/// The command line `line` (of `what`) starts the image's binary with flags the binary
/// knows: it is run with `--help` added, which clap answers only once every argument
/// before it parsed. Answers the value of `--config`, if given.
fn parses(line: &[String], what: &str) -> Option<String> {
    let (program, args) = line
        .split_first()
        .unwrap_or_else(|| panic!("{what}: an empty command"));
    assert_eq!(
        program, IMAGE_BINARY,
        "{what} does not run the image's binary"
    );
    let out = midoffice()
        .args(args)
        .arg("--help")
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{what}: `midoffice {}` does not parse with the binary's flags:\n{}",
        args.join(" "),
        common::said(&out)
    );
    args.iter()
        .position(|a| a == "--config")
        .map(|i| args.get(i + 1).cloned().expect("a value after --config"))
}

/// The configuration file a container of the image reads: its command line (`command`
/// and `args` as given, null when not) parses, and names one with `--config`.
fn runs(image: &Image, command: &Value, args: &Value, what: &str) -> String {
    let given = |v: &Value| v.as_sequence().map(|_| strings(v, what));
    let line = command_line(image, given(command), given(args));
    parses(&line, what)
        .unwrap_or_else(|| panic!("{what} does not name its configuration (--config)"))
}

/// `midoffice config check FILE` with exactly `env`; answers what it printed, after
/// checking it passed and names every `MIDOFFICE…` variable of `env` as the origin of
/// what it set (a variable it does not name is not one midoffice uses).
fn config_check(file: &Path, env: &BTreeMap<String, String>, what: &str) -> String {
    let dir = tempfile::tempdir().expect("a temp folder");
    let out = midoffice()
        .envs(env)
        .args(["config", "check"])
        .arg(file)
        .current_dir(dir.path())
        .output()
        .expect("the binary runs");
    let text = common::said(&out);
    assert!(out.status.success(), "{what}: config check failed:\n{text}");
    for name in env.keys().filter(|n| n.starts_with("MIDOFFICE")) {
        assert!(
            text.contains(&format!("({name})")) || text.contains(&format!("from {name} ")),
            "{what} sets {name}, which midoffice does not use (config check does not \
             name it):\n{text}"
        );
    }
    text
}

/// The port of the effective `server.listen` that config check printed.
fn listen_port(checked: &str) -> u16 {
    let line = checked
        .lines()
        .find_map(|l| l.strip_prefix("server.listen = "))
        .expect("config check prints server.listen");
    let addr = line.split_whitespace().next().unwrap_or_default();
    addr.rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or_else(|| panic!("server.listen {addr} has no port"))
}

fn port_of(addr: &str) -> u16 {
    addr.rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or_else(|| panic!("{addr} has no port"))
}

/// The port the HEALTHCHECK asks (`--addr`, else the command's default).
fn healthcheck_port(image: &Image) -> u16 {
    let addr = image
        .healthcheck
        .iter()
        .position(|a| a == "--addr")
        .map_or("127.0.0.1:50051", |i| image.healthcheck[i + 1].as_str());
    port_of(addr)
}

#[test]
fn every_yaml_file_in_deploy_parses() {
    let all = common::files(&deploy(), &["yaml", "yml"]);
    assert!(all.len() >= 10, "too few YAML files found: {all:?}");
    for path in all {
        assert!(
            !documents(&path).is_empty(),
            "{} holds no YAML document",
            path.display()
        );
    }
}

#[test]
fn the_kustomization_names_every_manifest() {
    let kustomization = documents(&kubernetes().join("kustomization.yaml"));
    let named: BTreeSet<String> = strings(&kustomization[0]["resources"], "resources")
        .into_iter()
        .collect();
    let present: BTreeSet<String> = common::files(&kubernetes(), &["yaml", "yml"])
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
        .filter(|n| n != "kustomization.yaml")
        // Examples (the Secret) are validated but not applied: created once by hand.
        .filter(|n| !n.ends_with(".example.yaml"))
        .collect();
    assert_eq!(named, present, "kustomization.yaml resources vs the files");
    assert!(
        !named.iter().any(|n| n.contains("secret")),
        "applying again would put the Secret's placeholders back"
    );
}

#[test]
fn the_manifests_pass_the_kubernetes_schemas() {
    let required = std::env::var_os("CI").is_some()
        || std::env::var(REQUIRE_TOOLS_VAR).is_ok_and(|v| v.trim() == "1");
    let validate = || {
        let mut command = Command::new("python3");
        command
            .args(["-m", "kubernetes_validate"])
            .stdin(Stdio::null());
        command
    };
    let probe = validate().arg("--version").output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        assert!(
            !required,
            "kubernetes-validate is not installed (pip install kubernetes-validate, as \
             .ci/run does), and CI or {REQUIRE_TOOLS_VAR}=1 asks for the schema check"
        );
        // Straight to stderr: libtest captures `eprintln!`, and a skip nobody sees
        // looks like a pass.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: kubernetes-validate is not installed, so deploy/kubernetes was not \
             checked against the Kubernetes {KUBERNETES_VERSION} schemas (pip install \
             kubernetes-validate)"
        );
        return;
    }
    let paths: BTreeSet<PathBuf> = manifests().into_iter().map(|(p, _)| p).collect();
    let out = validate()
        .args(["--strict", "--kubernetes-version", KUBERNETES_VERSION])
        .args(&paths)
        .output()
        .expect("kubernetes-validate runs");
    let text = common::said(&out);
    assert!(out.status.success(), "{text}");
    // Each resource passed; none was left unchecked for want of a schema.
    assert!(!text.contains("Couldn't find schema"), "{text}");
    assert_eq!(
        text.matches(" passed for resource ").count(),
        manifests().len(),
        "{text}"
    );
}

/// What a pod of deploy/kubernetes runs midoffice with.
struct Pod {
    /// The configuration file its containers read (the ConfigMap's value).
    config: String,
    /// The environment its containers set, with the Secret's values.
    env: BTreeMap<String, String>,
}

/// The pod `pod` (of `owner`) runs the image as the Deployment does: every container's
/// command line parses and names the ConfigMap's file where the container mounts it,
/// every variable comes from a value or from the Secret, the pod runs as the image's
/// user, not root, and no container may write its root file system.
fn pod_of_the_image(
    manifests: &[(PathBuf, Value)],
    image: &Image,
    pod: &Value,
    owner: &str,
) -> Pod {
    let config_map = one(manifests, "ConfigMap");
    let secret = one(manifests, "Secret");
    let config_map_name = text(&config_map["metadata"]["name"], "the ConfigMap's name");
    let secret_name = text(&secret["metadata"]["name"], "the Secret's name");

    // Where the pod mounts the ConfigMap, per volume name.
    let config_volumes: Vec<String> = list(&pod["volumes"])
        .iter()
        .filter(|v| v["configMap"]["name"].as_str() == Some(&config_map_name))
        .map(|v| text(&v["name"], "a volume's name"))
        .collect();
    assert!(
        !config_volumes.is_empty(),
        "the pod of {owner} does not mount the ConfigMap"
    );

    let containers: Vec<&Value> = list(&pod["initContainers"])
        .iter()
        .chain(list(&pod["containers"]))
        .collect();
    let mut env = BTreeMap::new();
    let mut config_file = None;
    for container in &containers {
        let name = text(&container["name"], "a container's name");
        let what = format!("{owner}'s container {name}");
        let config = runs(image, &container["command"], &container["args"], &what);
        // The file named is the ConfigMap's key, where the container mounts it.
        let (folder, key) = config.rsplit_once('/').expect("an absolute path");
        assert!(
            list(&container["volumeMounts"]).iter().any(|m| {
                m["mountPath"].as_str() == Some(folder)
                    && config_volumes.iter().any(|v| m["name"].as_str() == Some(v))
            }),
            "{what} reads {config}, but does not mount the ConfigMap at {folder}"
        );
        assert!(
            config_map["data"][key].is_string(),
            "{what} reads {config}, but the ConfigMap has no key {key}"
        );
        config_file = Some(text(&config_map["data"][key], "the configuration"));
        for var in list(&container["env"]) {
            let var_name = text(&var["name"], "an env name");
            let value = if let Some(value) = var["value"].as_str() {
                value.to_owned()
            } else {
                let from = &var["valueFrom"]["secretKeyRef"];
                assert_eq!(
                    from["name"].as_str(),
                    Some(secret_name.as_str()),
                    "{what}: {var_name} comes from no Secret of deploy/kubernetes"
                );
                let key = text(&from["key"], "a secretKeyRef key");
                let example = text(
                    &secret["stringData"][key.as_str()],
                    &format!("{what}: {var_name}: the Secret's key {key}"),
                );
                // The Secret is an example: an operator's value stands in for its
                // placeholder identifier secret, which midoffice refuses (below).
                if var_name == "MIDOFFICE_SECRET" {
                    assert!(
                        example.contains("REPLACE-ME"),
                        "{example:?} is no placeholder"
                    );
                    SECRET.to_owned()
                } else {
                    example
                }
            };
            if let Some(before) = env.insert(var_name.clone(), value.clone()) {
                assert_eq!(before, value, "{var_name} differs between the containers");
            }
        }
    }

    // The pod runs as the image's user.
    let security = &pod["securityContext"];
    let user = format!(
        "{}:{}",
        security["runAsUser"].as_u64().expect("runAsUser"),
        security["runAsGroup"].as_u64().expect("runAsGroup")
    );
    assert_eq!(
        image.user, user,
        "the Dockerfile's USER vs the pod of {owner}"
    );
    assert_eq!(security["runAsNonRoot"].as_bool(), Some(true));
    for container in &containers {
        assert_eq!(
            container["securityContext"]["readOnlyRootFilesystem"].as_bool(),
            Some(true),
            "{:?} may write its root file system",
            container["name"]
        );
    }
    Pod {
        config: config_file.expect("a container"),
        env,
    }
}

#[test]
fn the_deployment_runs_the_image_with_the_configmap_and_the_secret() {
    let manifests = manifests();
    let image = image();
    let deployment = one(&manifests, "Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let Pod { config, env } = pod_of_the_image(&manifests, &image, pod, "the Deployment");

    // The configuration, with the environment of the pod's containers.
    let dir = tempfile::tempdir().expect("a temp folder");
    let file = dir.path().join("midoffice.toml");
    std::fs::write(&file, config).expect("the file is written");
    let checked = config_check(&file, &env, "the Deployment");
    assert!(checked.contains("server.mode = production"), "{checked}");
    // With the example Secret's placeholder left in, the check fails (as serve would),
    // and never shows the value.
    let secret = one(&manifests, "Secret");
    let placeholder = text(
        &secret["stringData"]["identifier-secret"],
        "the placeholder",
    );
    let out = midoffice()
        .envs(&env)
        .env("MIDOFFICE_SECRET", &placeholder)
        .args(["config", "check"])
        .arg(&file)
        .current_dir(dir.path())
        .output()
        .expect("the binary runs");
    let said = common::said(&out);
    assert!(
        !out.status.success(),
        "the placeholder secret passed:\n{said}"
    );
    assert!(said.contains("MIDOFFICE_SECRET"), "{said}");
    assert!(!said.contains(&placeholder), "{said}");

    // One port everywhere: the server's, the container's, the probes', the Service's,
    // the NetworkPolicy's, the image's.
    let port = listen_port(&checked);
    let server = list(&pod["containers"])
        .iter()
        .find(|c| c["ports"].is_sequence())
        .expect("a container with ports");
    let ports = list(&server["ports"]);
    assert!(
        ports
            .iter()
            .any(|p| p["containerPort"].as_u64() == Some(port.into())),
        "no containerPort {port}"
    );
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        assert_eq!(
            server[probe]["grpc"]["port"].as_u64(),
            Some(port.into()),
            "{probe} is not a gRPC probe of port {port}"
        );
    }
    let service = one(&manifests, "Service");
    for target in list(&service["spec"]["ports"])
        .iter()
        .map(|p| &p["targetPort"])
    {
        let named = ports.iter().find(|p| match target.as_str() {
            Some(name) => p["name"].as_str() == Some(name),
            None => p["containerPort"] == *target,
        });
        assert!(
            named.is_some(),
            "the Service's targetPort {target:?} is no container port"
        );
    }
    let policy = one(&manifests, "NetworkPolicy");
    let ingress: Vec<u64> = list(&policy["spec"]["ingress"])
        .iter()
        .flat_map(|rule| list(&rule["ports"]))
        .filter_map(|p| p["port"].as_u64())
        .collect();
    assert_eq!(
        ingress,
        [u64::from(port)],
        "the NetworkPolicy's ingress ports"
    );
    assert_eq!(healthcheck_port(&image), port, "the HEALTHCHECK's port");
    assert!(
        image.exposed.contains(&port),
        "the image does not EXPOSE {port}"
    );
}

#[test]
fn the_retention_cronjob_runs_a_pass_with_the_servers_configuration() {
    let manifests = manifests();
    let image = image();
    let deployment = one(&manifests, "Deployment");
    let cron_job = one(&manifests, "CronJob");
    let server = pod_of_the_image(
        &manifests,
        &image,
        &deployment["spec"]["template"]["spec"],
        "the Deployment",
    );
    let pod = &cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let job = pod_of_the_image(&manifests, &image, pod, "the retention CronJob");

    // It runs one retention pass.
    for container in list(&pod["containers"]) {
        let args = strings(&container["args"], "the CronJob's args");
        assert_eq!(
            args.get(..2),
            Some(&["retention".to_owned(), "run".to_owned()][..]),
            "the CronJob's container runs {args:?}, not `retention run`"
        );
    }
    // With the servers' configuration, and the same value for each variable it sets
    // (so each is one midoffice uses: the Deployment's test checks that). It needs no
    // identifier secret, which `config check` asks for in production, so the file is
    // checked with the Deployment's environment.
    assert_eq!(job.config, server.config, "the CronJob reads another file");
    for (name, value) in &job.env {
        assert_eq!(
            server.env.get(name),
            Some(value),
            "the CronJob sets {name} otherwise than the Deployment"
        );
    }
    let dir = tempfile::tempdir().expect("a temp folder");
    let file = dir.path().join("midoffice.toml");
    std::fs::write(&file, &job.config).expect("the file is written");
    let checked = config_check(&file, &server.env, "the retention CronJob");
    // The serving replicas leave retention to it.
    assert!(checked.contains("retention.enabled = false"), "{checked}");

    // Its pods are not the server's: the Service sends them no calls, and the
    // NetworkPolicy holds for them too.
    let labels = pod_labels(cron_job);
    let service = one(&manifests, "Service");
    let selector = service["spec"]["selector"]
        .as_mapping()
        .expect("the Service's selector");
    let selected = selector
        .iter()
        .all(|(k, v)| labels.get(&text(k, "a label")) == Some(&text(v, "a label's value")));
    assert!(
        !selected,
        "the Service selects the CronJob's pods ({labels:?})"
    );
    let policy = one(&manifests, "NetworkPolicy");
    let name = labels
        .get("app.kubernetes.io/name")
        .expect("the CronJob's pods carry app.kubernetes.io/name");
    assert!(
        list(&policy["spec"]["podSelector"]["matchExpressions"])
            .iter()
            .any(|e| e["key"].as_str() == Some("app.kubernetes.io/name")
                && e["operator"].as_str() == Some("In")
                && list(&e["values"]).iter().any(|v| v.as_str() == Some(name))),
        "the NetworkPolicy does not select the CronJob's pods ({name})"
    );
}

/// The labels of a CronJob's pods.
fn pod_labels(cron_job: &Value) -> BTreeMap<String, String> {
    cron_job["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
        .as_mapping()
        .expect("the CronJob's pods have labels")
        .iter()
        .map(|(k, v)| (text(k, "a label"), text(v, "a label's value")))
        .collect()
}

/// `text` with each `${NAME:?message}` of compose replaced by a stand-in; a variable
/// without `:?` (which compose would quietly make empty) is refused.
fn interpolate(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("a closing }") + start;
        let inner = &rest[start + 2..end];
        let (name, _) = inner.split_once(":?").unwrap_or_else(|| {
            panic!("${{{inner}}}: compose would make it empty when unset; use ${{NAME:?why}}")
        });
        out.push_str(if name == "MIDOFFICE_SECRET" {
            SECRET
        } else {
            "stand-in"
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn compose_runs_the_image_with_its_configuration() {
    let image = image();
    let path = deploy().join("compose.yaml");
    let compose = documents(&path).remove(0);
    let services = compose["services"].as_mapping().expect("services");
    let ours: Vec<(String, &Value)> = services
        .iter()
        .filter(|(_, s)| s["build"].is_mapping() || s["image"].as_str() == Some("midoffice:local"))
        .map(|(name, s)| (text(name, "a service's name"), s))
        .collect();
    let names: Vec<&str> = ours.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["migrate", "midoffice"], "the services of the image");
    for (name, service) in &ours {
        let build = &service["build"];
        let dockerfile = deploy()
            .join(text(&build["context"], "build.context"))
            .join(text(&build["dockerfile"], "build.dockerfile"));
        assert_eq!(
            dockerfile.canonicalize().ok(),
            deploy().join("Dockerfile").canonicalize().ok(),
            "compose's service {name} is not built from deploy/Dockerfile"
        );
    }

    let mut env = BTreeMap::new();
    let mut config = None;
    for (name, service) in &ours {
        let what = format!("compose's service {name}");
        let file = runs(&image, &service["entrypoint"], &service["command"], &what);
        let source = strings(&service["volumes"], "volumes")
            .into_iter()
            .find_map(|v| {
                let mut parts = v.split(':');
                let (source, target) = (parts.next()?, parts.next()?);
                (target == file).then(|| deploy().join(source))
            })
            .unwrap_or_else(|| panic!("{what} reads {file}, which it does not mount"));
        assert!(
            source.is_file(),
            "{what} mounts {}, which is not there",
            source.display()
        );
        if let Some(before) = config.replace(source.clone()) {
            assert_eq!(before, source, "the services read different configurations");
        }
        for (var, value) in service["environment"].as_mapping().expect("an environment") {
            let var = text(var, "a variable's name");
            let value = interpolate(&text(value, &var));
            if let Some(before) = env.insert(var.clone(), value.clone()) {
                assert_eq!(before, value, "{var} differs between the services");
            }
        }
        if name == "midoffice" {
            let published = strings(&service["ports"], "ports");
            let checked = config_check(&source, &env, &what);
            let port = listen_port(&checked);
            assert!(
                published
                    .iter()
                    .all(|p| p.starts_with("127.0.0.1:") && p.ends_with(&format!(":{port}"))),
                "{what} publishes {published:?}: the host's loopback, to port {port}"
            );
            assert_eq!(healthcheck_port(&image), port, "the HEALTHCHECK's port");
        }
    }
}

#[test]
fn the_image_healthcheck_parses_with_the_binarys_flags() {
    let image = image();
    let args = parses(&image.healthcheck, "the Dockerfile's HEALTHCHECK");
    assert!(args.is_none());
    assert_eq!(image.healthcheck.get(1).map(String::as_str), Some("health"));
    let line = command_line(&image, None, None);
    let config = parses(&line, "the Dockerfile's ENTRYPOINT and CMD");
    assert_eq!(config.as_deref(), Some("/etc/midoffice/midoffice.toml"));
    assert!(
        image
            .user
            .split(':')
            .all(|id| id.parse::<u32>().is_ok_and(|id| id != 0)),
        "the image runs as {}: a fixed uid and gid, not root",
        image.user
    );
}
