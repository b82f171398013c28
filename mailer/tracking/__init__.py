"""What recipients do and what staff learn afterwards: unsubscribes and preferences, opens and
clicks, bounces and complaints, and the reports built on them."""
