// Exported so every test file in this target sees the shared helpers (package and fixture paths,
// scratch folders, running the command line) without its own import.
@_exported import TestSupport
