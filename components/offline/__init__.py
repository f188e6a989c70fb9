"""Running the program without credentials: under Pulumi's mocks, for the offline review and the tests."""
