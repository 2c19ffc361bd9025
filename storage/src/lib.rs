//! teraslice-storage: `StateStore` implementations.
