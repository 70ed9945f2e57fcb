// A program that imports WeightconvKit gets the runtime (open a `.wcv`, run its network) and the
// types its API speaks in: tensors, configurations, dtypes and errors, without importing each module.
@_exported import WeightconvRuntime
