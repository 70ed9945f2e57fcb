// Networks (in progress)
