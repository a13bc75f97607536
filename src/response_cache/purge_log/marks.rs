//! The marks of an index by kind of scope, so a hit looks each up by `&str`
//! (no allocation) and skips the kinds that have none.

use std::collections::{BTreeMap, HashMap};

use super::scope::{Mark, Scope};

/// One [`Mark`] per scope.
#[derive(Clone, Debug, Default)]
pub(super) struct Marks {
    pub(super) all: Option<Mark>,
    pub(super) urls: HashMap<String, Mark>,
    /// Scanned on each check: ordered so iteration is stable.
    pub(super) url_prefixes: BTreeMap<String, Mark>,
    pub(super) key_prefixes: HashMap<String, Mark>,
    pub(super) tags: HashMap<String, Mark>,
}

impl Marks {
    pub(super) fn len(&self) -> usize {
        usize::from(self.all.is_some())
            + self.urls.len()
            + self.url_prefixes.len()
            + self.key_prefixes.len()
            + self.tags.len()
    }

    /// The mark of `scope`, made empty when absent.
    pub(super) fn entry(&mut self, scope: &Scope) -> &mut Mark {
        match scope {
            Scope::All => self.all.get_or_insert_with(Mark::default),
            Scope::Url(s) => self.urls.entry(s.clone()).or_default(),
            Scope::UrlPrefix(s) => self.url_prefixes.entry(s.clone()).or_default(),
            Scope::KeyPrefix(s) => self.key_prefixes.entry(s.clone()).or_default(),
            Scope::Tag(s) => self.tags.entry(s.clone()).or_default(),
        }
    }

    pub(super) fn remove(&mut self, scope: &Scope) -> Option<Mark> {
        match scope {
            Scope::All => self.all.take(),
            Scope::Url(s) => self.urls.remove(s),
            Scope::UrlPrefix(s) => self.url_prefixes.remove(s),
            Scope::KeyPrefix(s) => self.key_prefixes.remove(s),
            Scope::Tag(s) => self.tags.remove(s),
        }
    }

    /// The marks `keep` accepts, with their scopes (only those are named:
    /// a sync that finds nothing new allocates nothing).
    pub(super) fn collect_where(&self, keep: impl Fn(&Mark) -> bool) -> Vec<(Scope, Mark)> {
        fn named<'a>(
            out: &mut Vec<(Scope, Mark)>,
            scope: fn(String) -> Scope,
            marks: impl Iterator<Item = (&'a String, &'a Mark)>,
            keep: &impl Fn(&Mark) -> bool,
        ) {
            out.extend(marks.filter(|(_, m)| keep(m)).map(|(k, m)| (scope(k.clone()), *m)));
        }
        let mut out: Vec<(Scope, Mark)> = self.all.iter().filter(|m| keep(m)).map(|m| (Scope::All, *m)).collect();
        named(&mut out, Scope::Url, self.urls.iter(), &keep);
        named(&mut out, Scope::UrlPrefix, self.url_prefixes.iter(), &keep);
        named(&mut out, Scope::KeyPrefix, self.key_prefixes.iter(), &keep);
        named(&mut out, Scope::Tag, self.tags.iter(), &keep);
        out
    }

    /// Every mark with its scope, in no particular order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (Scope, &Mark)> {
        fn named<'a>(f: fn(String) -> Scope) -> impl Fn((&'a String, &'a Mark)) -> (Scope, &'a Mark) {
            move |(k, m)| (f(k.clone()), m)
        }
        self.all
            .iter()
            .map(|m| (Scope::All, m))
            .chain(self.urls.iter().map(named(Scope::Url)))
            .chain(self.url_prefixes.iter().map(named(Scope::UrlPrefix)))
            .chain(self.key_prefixes.iter().map(named(Scope::KeyPrefix)))
            .chain(self.tags.iter().map(named(Scope::Tag)))
    }
}
