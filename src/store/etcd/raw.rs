//! [`EtcdStore`] as a [`RawStore`]: records read with their secrets opened, written with them
//! sealed; the commit markers and the election are the store's own bookkeeping, not records.

use super::EtcdStore;
use super::stm::{READS_PER_TXN, scan};
use crate::store::sled_raw::{tree_names, unknown_tree};
use crate::store::transfer::{RawRecord, RawStore};
use crate::store::{Space, StoreError};

/// Whether records of `tree` are sealed in etcd.
fn sealed(tree: &str) -> bool {
    Space::ALL.iter().any(|s| s.is_secret() && s.tree() == tree)
}

impl RawStore for EtcdStore {
    fn raw_records(&self) -> Result<Vec<RawRecord>, StoreError> {
        let mut out = Vec::new();
        let markers = self.layout.writers();
        for name in tree_names() {
            for (full, value) in scan(&self.conn, &self.layout.tree(name), false, None)? {
                if full.starts_with(&markers) {
                    continue;
                }
                let value = if sealed(name) {
                    self.key.open(&full, &value)?
                } else {
                    value
                };
                out.push(RawRecord {
                    tree: name.to_string(),
                    key: self.layout.strip(name, &full).to_vec(),
                    value,
                });
            }
        }
        out.sort_by(|a, b| (&a.tree, &a.key).cmp(&(&b.tree, &b.key)));
        Ok(out)
    }

    fn put_raw(&self, records: &[RawRecord]) -> Result<(), StoreError> {
        for r in records {
            if !tree_names().any(|t| t == r.tree) {
                return Err(unknown_tree(&r.tree));
            }
        }
        for batch in records.chunks(READS_PER_TXN) {
            self.atomically(|tx| {
                for r in batch {
                    let full = self.layout.key(&r.tree, &r.key);
                    let value = if sealed(&r.tree) {
                        self.key.seal(&full, &r.value)?
                    } else {
                        r.value.clone()
                    };
                    tx.put(full, value);
                }
                Ok(())
            })?;
        }
        Ok(())
    }
}
