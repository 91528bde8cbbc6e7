"""Single Sign On: providers, the sign-in flow, matching, linking and one-time-password confirmation."""
