"""The `courses` hub service: instructors publish labs, students pull and hand them in.

Pure parts (``roles``, ``merge``, ``bundle``) know nothing of the web; ``store`` is the
service's file-system store; ``puller`` runs inside a user's server (the server
extension calls it) and applies the nbgitpuller rule to the user's home."""
