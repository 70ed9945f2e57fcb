// WeightconvKit (in progress)
