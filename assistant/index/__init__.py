"""Documents into a stored index: chunking, abbreviations, the build, and the storage seam with
its implementations."""
