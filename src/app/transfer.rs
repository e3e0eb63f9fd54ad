//! `labkube store export` and `labkube store migrate`: naming a store on the command line
//! (`sled:DIR`, `etcd:URL[,URL...]`) and moving its records ([`crate::store::transfer`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::AppError;
use crate::config::{ENDPOINT_FORM, check_endpoint, check_prefix};
use crate::store::SledStore;
use crate::store::transfer::{self, Migrated, RawStore};

/// The accepted forms of a store on the command line.
pub const STORE_FORM: &str = "sled:DIR or etcd:URL[,URL...] (URL: http://HOST:PORT)";

/// How an etcd store named on the command line is reached besides its endpoints.
#[derive(Clone, Debug)]
pub struct EtcdAccess {
    /// Key prefix (`/labkube/`).
    pub prefix: String,
    /// The environment variable holding the sealing key.
    pub key_env: String,
}

/// Opens the store `spec` names.
pub fn open_spec(spec: &str, access: &EtcdAccess) -> Result<Box<dyn RawStore>, AppError> {
    let bad = |why: String| AppError::StoreSpec(format!("{spec:?}: {why}; write {STORE_FORM}"));
    if let Some(dir) = spec.strip_prefix("sled:") {
        if dir.is_empty() {
            return Err(bad("no directory".into()));
        }
        let dir = PathBuf::from(dir);
        return Ok(Box::new(SledStore::open(&dir)?));
    }
    if let Some(list) = spec.strip_prefix("etcd:") {
        let endpoints: Vec<String> = list.split(',').map(str::to_string).collect();
        for e in &endpoints {
            check_endpoint(e).map_err(|why| bad(format!("{why} ({ENDPOINT_FORM})")))?;
        }
        check_prefix(&access.prefix)
            .map_err(|why| AppError::StoreSpec(format!("--prefix {why}")))?;
        return open_etcd(endpoints, access);
    }
    Err(bad("unknown kind of store".into()))
}

#[cfg(feature = "etcd")]
fn open_etcd(endpoints: Vec<String>, access: &EtcdAccess) -> Result<Box<dyn RawStore>, AppError> {
    use crate::config::{SecretSource, StoreSettings};
    let settings = StoreSettings {
        backend: crate::config::Backend::Etcd,
        endpoints,
        prefix: access.prefix.clone(),
        secret_key: Some(SecretSource {
            env: Some(access.key_env.clone()),
            ..SecretSource::default()
        }),
        ..StoreSettings::default()
    };
    let store = crate::store::EtcdStore::open(&super::etcd_settings(&settings)?)?;
    Ok(Box::new(store))
}

#[cfg(not(feature = "etcd"))]
fn open_etcd(_: Vec<String>, _: &EtcdAccess) -> Result<Box<dyn RawStore>, AppError> {
    Err(AppError::NotBuilt(super::bot::NO_ETCD))
}

/// Writes every record of `store` as JSON lines to `out` (a new 0600 file) or stdout; the
/// summary, for stderr.
pub fn export(store: &dyn RawStore, out: Option<&Path>) -> Result<String, AppError> {
    let records = store.raw_records()?;
    let io = |e: std::io::Error| AppError::Export(e.to_string());
    let mut sink: Box<dyn Write> = match out {
        Some(path) => {
            use std::os::unix::fs::OpenOptionsExt;
            // A backup holds every kubeconfig: private, and never over an existing file.
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| AppError::Export(format!("cannot create {}: {e}", path.display())))?;
            Box::new(std::io::BufWriter::new(file))
        }
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    for r in &records {
        writeln!(sink, "{}", transfer::export_line(r)?).map_err(io)?;
    }
    sink.flush().map_err(io)?;
    Ok(format!(
        "exported {} records ({})",
        records.len(),
        transfer::show(&transfer::counts(&records))
    ))
}

/// Copies `from` into `to` and checks them; the summary.
pub fn migrate(from: &dyn RawStore, to: &dyn RawStore) -> Result<String, AppError> {
    let Migrated { counts, unchanged } = transfer::migrate(from, to)?;
    let total: usize = counts.values().sum();
    Ok(format!(
        "migrated {total} records ({}); already there as they are: {unchanged}; both stores now hold the same records",
        transfer::show(&counts)
    ))
}
