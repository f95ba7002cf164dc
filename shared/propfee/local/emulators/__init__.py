"""HTTP emulators of the payment and messaging providers, for the sandbox: they check the signatures the real
SDKs make and answer, notify and retry as the providers do."""
