"""Documents into a stored index: chunking, abbreviations, the build, the storage seam and its implementations."""
