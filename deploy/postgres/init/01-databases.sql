-- Runs once, when the compose PostgreSQL volume is first initialised.
-- Each service owns its database (ARCHITECTURE.md §1); the schema comes from the services'
-- own `migrate` commands, never from here.
CREATE DATABASE auth;
CREATE DATABASE billing;
CREATE DATABASE email;
