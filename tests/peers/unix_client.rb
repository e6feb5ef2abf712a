# The client of "Unix Domain Sockets" in "Socket Programming Concepts", with the socket path
# (the seed's /tmp/app.sock) and the message from the command line.
#   ruby unix_client.rb PATH [MESSAGE]
require 'socket'

path = ARGV.fetch(0, '/tmp/app.sock')
message = ARGV.fetch(1, 'Hello')

socket = UNIXSocket.new(path)
socket.send(message, 0)
response = socket.recv(1024)
puts response
socket.close
