// A program that imports WeightconvRuntime gets the types its API speaks in: tensors,
// configurations, weight files, dtypes and errors, without importing each module.
@_exported import Networks
@_exported import TensorEngine
@_exported import WeightconvCore
@_exported import WeightFormat
@_exported import ImageDecoding
@_exported import ImagePipeline
