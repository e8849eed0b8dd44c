{#
  A MikroTik RouterOS script that refills one firewall address list with the task's
  addresses and networks. Use it with `syntax = "ip"`, so that only values that read as an
  address or a network reach the script: a value with a quote, a `;` or a line break could
  otherwise add commands of a feed's choosing.
#}
{% set name = "feedsmith-" ~ task.id %}
{# An address listed as both ip-dst and ip-src is one entry: RouterOS refuses a duplicate
   and stops the import there. #}
{% set addresses = entries | unique(attribute="value") | list %}
# {{ task.name }}: RouterOS address list `{{ name }}`, {{ addresses | length }} entries.
# Built {{ now }} by feedsmith. Load with `/import file-name=<this file>`; it empties the
# list, then adds every entry again.
/ip firewall address-list remove [/ip firewall address-list find list="{{ name }}"]
{% for e in addresses %}
/ip firewall address-list add list="{{ name }}" address={{ e.value }} comment="{{ e.feeds | join(" ") }}"
{% endfor %}
