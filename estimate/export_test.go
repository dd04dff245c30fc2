package estimate

// Prepare is prepare for the package's external tests.
var Prepare = prepare
