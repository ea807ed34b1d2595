"""The providers' own APIs: what the deployment's URL cannot show (environment variables, migrations,
backups, payments, user activity, the providers' status) and Vercel's instant rollback."""
