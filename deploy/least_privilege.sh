#!/bin/sh
# Least-privilege users of the production profile (docs/scale.md, "Users and rights").
#
#   BOT_DB_PASSWORD=… BOT_MQ_PASSWORD=… deploy/least_privilege.sh
#
# Run once per installation, on a machine where `psql` reaches PostgreSQL as a superuser and
# `rabbitmqctl` administers RabbitMQ. It creates, none of them superuser or administrator:
#   - PostgreSQL role $BOT_DB_APP_USER owning database $BOT_DB_NAME (the application database: the
#     gateway migrates and writes it), and role $BOT_DB_RASA_USER owning $BOT_DB_TRACKER (Rasa's
#     tracker store; the gateway uses the same URL to erase trackers); PUBLIC loses CONNECT on both;
#   - RabbitMQ vhost $BOT_MQ_VHOST and user $BOT_MQ_USER that may only declare, publish to and read
#     the queue $BOT_MQ_QUEUE, whose messages expire after $BOT_MQ_TTL_MS (events of an erased
#     household do not outlive that in the broker).
# Then put the printed URLs into the environment (BOT_DATABASE_URL, BOT_TRACKER_STORE_URL,
# BOT_EVENT_BROKER_URL) and delete RabbitMQ's `guest` user (`rabbitmqctl delete_user guest`).
set -eu
: "${BOT_DB_PASSWORD:?set BOT_DB_PASSWORD}"
: "${BOT_MQ_PASSWORD:?set BOT_MQ_PASSWORD}"
BOT_DB_APP_USER=${BOT_DB_APP_USER:-bot_app}
BOT_DB_RASA_USER=${BOT_DB_RASA_USER:-bot_rasa}
BOT_DB_NAME=${BOT_DB_NAME:-bot}
BOT_DB_TRACKER=${BOT_DB_TRACKER:-bot_tracker}
BOT_MQ_USER=${BOT_MQ_USER:-bot}
BOT_MQ_VHOST=${BOT_MQ_VHOST:-bot}
BOT_MQ_QUEUE=${BOT_MQ_QUEUE:-bot_events}
BOT_MQ_TTL_MS=${BOT_MQ_TTL_MS:-600000}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_SUPERUSER=${PG_SUPERUSER:-postgres}
RABBITMQCTL=${RABBITMQCTL:-rabbitmqctl}

psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres -v ON_ERROR_STOP=1 -q \
    -v app="$BOT_DB_APP_USER" -v rasa="$BOT_DB_RASA_USER" -v pw="$BOT_DB_PASSWORD" \
    -v db="$BOT_DB_NAME" -v tracker="$BOT_DB_TRACKER" <<'SQL'
CREATE ROLE :"app" LOGIN PASSWORD :'pw' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
CREATE ROLE :"rasa" LOGIN PASSWORD :'pw' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
CREATE DATABASE :"db" OWNER :"app";
CREATE DATABASE :"tracker" OWNER :"rasa";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
REVOKE ALL ON DATABASE :"tracker" FROM PUBLIC;
SQL
for db in "$BOT_DB_NAME" "$BOT_DB_TRACKER"; do  # PostgreSQL < 15 lets PUBLIC create in public
    psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_SUPERUSER" -d "$db" -v ON_ERROR_STOP=1 -q \
        -c "REVOKE CREATE ON SCHEMA public FROM PUBLIC"
done
psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_SUPERUSER" -d "$BOT_DB_NAME" -v ON_ERROR_STOP=1 -q \
    -c "ALTER SCHEMA public OWNER TO \"$BOT_DB_APP_USER\""
psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_SUPERUSER" -d "$BOT_DB_TRACKER" -v ON_ERROR_STOP=1 -q \
    -c "ALTER SCHEMA public OWNER TO \"$BOT_DB_RASA_USER\""

"$RABBITMQCTL" -q add_vhost "$BOT_MQ_VHOST"
"$RABBITMQCTL" -q add_user "$BOT_MQ_USER" "$BOT_MQ_PASSWORD"
"$RABBITMQCTL" -q set_permissions -p "$BOT_MQ_VHOST" "$BOT_MQ_USER" \
    "^$BOT_MQ_QUEUE\$" "^($BOT_MQ_QUEUE|amq\\.default)\$" "^$BOT_MQ_QUEUE\$"
"$RABBITMQCTL" -q set_policy -p "$BOT_MQ_VHOST" --apply-to queues "$BOT_MQ_QUEUE-ttl" \
    "^$BOT_MQ_QUEUE\$" "{\"message-ttl\": $BOT_MQ_TTL_MS}"

echo "BOT_DATABASE_URL=postgresql+psycopg://$BOT_DB_APP_USER:<password>@$PG_HOST:$PG_PORT/$BOT_DB_NAME"
echo "BOT_TRACKER_STORE_URL=postgresql://$BOT_DB_RASA_USER:<password>@$PG_HOST:$PG_PORT/$BOT_DB_TRACKER"
echo "BOT_EVENT_BROKER_URL=amqp://$BOT_MQ_USER:<password>@<host>:5672/$BOT_MQ_VHOST"
