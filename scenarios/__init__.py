"""The shipped scenarios, as package data: `importlib.resources.files("leakhunt.scenarios")`."""
