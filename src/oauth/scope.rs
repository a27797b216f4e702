//! Scopes Gatehouse knows, and sets of them. A set is a bit mask, so
//! checking "does this token hold `read`" costs nothing.

use super::OAuthError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Read,
    Write,
    Introspection,
    Openid,
    Profile,
    Email,
}

impl Scope {
    /// In the order they are listed everywhere (consent page, metadata).
    pub const ALL: [Scope; 6] = [
        Scope::Openid,
        Scope::Profile,
        Scope::Email,
        Scope::Read,
        Scope::Write,
        Scope::Introspection,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Introspection => "introspection",
            Scope::Openid => "openid",
            Scope::Profile => "profile",
            Scope::Email => "email",
        }
    }

    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// What the consent page tells the user the app will be able to do.
    pub fn description(self) -> &'static str {
        match self {
            Scope::Read => "Read your account details",
            Scope::Write => "Change your account details",
            Scope::Introspection => "Check whether access tokens are valid",
            Scope::Openid => "Confirm who you are",
            Scope::Profile => "See your name and username",
            Scope::Email => "See your email address",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of scopes. Its text form is space-separated, in [`Scope::ALL`]
/// order, as RFC 6749 §3.3 writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ScopeSet(u8);

/// The longest scope parameter accepted; every known scope together is
/// far shorter.
const MAX_SCOPE_LEN: usize = 512;

impl ScopeSet {
    pub const EMPTY: ScopeSet = ScopeSet(0);

    /// Parses a scope parameter. Unknown names are an `invalid_scope`
    /// error naming the first one; repeated names count once.
    pub fn parse(text: &str) -> Result<ScopeSet, OAuthError> {
        if text.len() > MAX_SCOPE_LEN {
            return Err(OAuthError::invalid_scope("the scope parameter is too long"));
        }
        // RFC 6749 §3.3: at least one scope-token; only spaces names none.
        if !text.is_empty() && text.bytes().all(|b| b == b' ') {
            return Err(OAuthError::invalid_scope(
                "the scope parameter names no scope",
            ));
        }
        let mut set = ScopeSet::EMPTY;
        // RFC 6749 §3.3: delimited by spaces (%x20) only.
        for name in text.split(' ').filter(|n| !n.is_empty()) {
            match Scope::parse(name) {
                Some(s) => set.insert(s),
                None => {
                    let shown: String = name.chars().take(40).collect();
                    return Err(OAuthError::invalid_scope(format!("unknown scope: {shown}")));
                }
            }
        }
        Ok(set)
    }

    /// Parses a stored set, ignoring names this build does not know.
    pub fn from_stored(text: &str) -> ScopeSet {
        text.split(' ').filter_map(Scope::parse).collect()
    }

    pub fn insert(&mut self, scope: Scope) {
        self.0 |= scope.bit();
    }
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn is_subset(self, of: ScopeSet) -> bool {
        self.0 & !of.0 == 0
    }
    pub fn union(self, other: ScopeSet) -> ScopeSet {
        ScopeSet(self.0 | other.0)
    }
    pub fn without(self, scope: Scope) -> ScopeSet {
        ScopeSet(self.0 & !scope.bit())
    }
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut set = ScopeSet::EMPTY;
        for s in iter {
            set.insert(s);
        }
        set
    }
}

impl std::fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for s in self.iter() {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(s.as_str())?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::ErrorCode;

    #[test]
    fn parses_and_prints_in_canonical_order() {
        let s = ScopeSet::parse("write  read openid read").unwrap();
        assert_eq!(s.to_string(), "openid read write");
        assert!(s.contains(Scope::Read) && !s.contains(Scope::Email));
        assert_eq!(ScopeSet::parse("").unwrap(), ScopeSet::EMPTY);
        assert!(ScopeSet::parse("   ").is_err(), "only spaces name no scope");
    }

    #[test]
    fn unknown_scopes_are_invalid_scope() {
        let e = ScopeSet::parse("read admin").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidScope);
        assert!(e.description.contains("admin"));
        // Tabs are not delimiters (RFC 6749 §3.3).
        assert!(ScopeSet::parse("read\twrite").is_err());
        assert!(ScopeSet::parse(&"read ".repeat(200)).is_err());
        assert!(ScopeSet::parse("READ").is_err());
    }

    #[test]
    fn subset_and_union() {
        let rw = ScopeSet::parse("read write").unwrap();
        let r = ScopeSet::parse("read").unwrap();
        assert!(r.is_subset(rw) && !rw.is_subset(r));
        assert!(ScopeSet::EMPTY.is_subset(r));
        assert_eq!(r.union(rw), rw);
        assert_eq!(rw.without(Scope::Write), r);
    }

    #[test]
    fn stored_sets_skip_unknown_names() {
        assert_eq!(
            ScopeSet::from_stored("read legacy write").to_string(),
            "read write"
        );
    }

    #[test]
    fn every_scope_has_a_description() {
        for s in Scope::ALL {
            assert!(!s.description().is_empty());
            assert_eq!(Scope::parse(s.as_str()), Some(s));
        }
    }
}
