/// The naive operators: plain loops in the order of their mathematical definition, kept
/// obviously correct so that the fast path can be tested against them. Each operator family's file
/// adds its own (`Naive.conv2d` in Convolution.swift, `Naive.maxPool2d` in Pooling.swift, …); the
/// fast path is `FastExecutor` with the prepared operators.
package enum Naive {}
