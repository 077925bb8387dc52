"""Built-in plugins. Each subpackage registers its parts through the ``synctrack_register_parts`` hook,
exactly as a third-party plugin does; core finds them by module name (``DEFAULT_PLUGINS``)."""
