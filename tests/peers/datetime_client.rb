# p069dtclient.rb from "Socket Programming & Threads", with the port from the command line.
#   ruby datetime_client.rb [PORT]
require 'socket'

port = Integer(ARGV.fetch(0, '20000'))

socket = TCPSocket.new('127.0.0.1', port)
time_string = socket.recv(100)

puts time_string

socket.close
