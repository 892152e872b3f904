"""What is run against a platform to show or test it: the demos, the benchmark, the chaos
soak and the sample order."""
