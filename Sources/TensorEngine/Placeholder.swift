// TensorEngine (in progress)
