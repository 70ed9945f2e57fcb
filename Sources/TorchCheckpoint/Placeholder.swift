// The checkpoint reader lands here (issue 2).
import WeightconvCore
