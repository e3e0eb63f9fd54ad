//! [`SledStore`] as a [`RawStore`]: its trees read and written as they are, for export and
//! migration ([`super::transfer`]).

use super::codec::TREES;
use super::sled_store::SledStore;
use super::transfer::{RawRecord, RawStore};
use super::{Space, StoreError};

/// Every tree a store has, core and small records.
pub(super) fn tree_names() -> impl Iterator<Item = &'static str> {
    TREES.into_iter().chain(Space::ALL.iter().map(|s| s.tree()))
}

impl RawStore for SledStore {
    fn raw_records(&self) -> Result<Vec<RawRecord>, StoreError> {
        let mut out = Vec::new();
        for name in tree_names() {
            for item in self.db.open_tree(name)?.iter() {
                let (key, value) = item?;
                out.push(RawRecord {
                    tree: name.to_string(),
                    key: key.to_vec(),
                    value: value.to_vec(),
                });
            }
        }
        out.sort_by(|a, b| (&a.tree, &a.key).cmp(&(&b.tree, &b.key)));
        Ok(out)
    }

    fn put_raw(&self, records: &[RawRecord]) -> Result<(), StoreError> {
        for r in records {
            let Some(name) = tree_names().find(|t| *t == r.tree) else {
                return Err(unknown_tree(&r.tree));
            };
            self.db
                .open_tree(name)?
                .insert(&r.key, r.value.as_slice())?;
        }
        self.sync()
    }
}

/// A record of a tree this release does not have (written by a newer one).
pub(super) fn unknown_tree(tree: &str) -> StoreError {
    super::codec::corrupt(tree, "*", "is not a tree of this release's store")
}
