# The UDP client side of "UDP Socket Implementation" / "UDP Time Server" in "Socket
# Programming Concepts": send one datagram, print the reply from recvfrom.
#   ruby udp_client.rb PORT [MESSAGE]
require 'socket'

port = Integer(ARGV.fetch(0))
message = ARGV.fetch(1, 'hello')

client = UDPSocket.new
client.send(message, 0, '127.0.0.1', port)
abort 'no reply within 20 seconds' unless IO.select([client], nil, nil, 20)
response, _sender = client.recvfrom(1024)
puts response
client.close
