// Never built: only its dependencies are vendored.
