"""`memstack plugin new`: writes a plugin package that passes the contract suite on its first run.

The templates under `templates/` are copies of the reference providers (the core's `memory` store
and `sqlite` history, this package's fakes) with the names filled in: the author starts green and
replaces the storage or the model call, with the suite saying what still holds.
"""
