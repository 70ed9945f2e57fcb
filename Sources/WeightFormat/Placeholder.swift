// WeightFormat (in progress)
