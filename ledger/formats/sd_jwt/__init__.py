"""SD-JWT VC for learner wallets: RFC 9901 selective disclosure, the credential's claims, and the
IETF Token Status List that revokes it."""
